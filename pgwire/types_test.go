package pgwire

import "testing"

func TestArrayLiteral(t *testing.T) {
	for _, tc := range []struct {
		in   []any
		want string
	}{
		{[]any{int64(1), int64(2)}, "{1,2}"},
		{[]any{"a", "b c", nil, "", `q"t`, "x,y", "NULL"}, `{a,"b c",NULL,"","q\"t","x,y","NULL"}`},
		{[]any{true, 1.5}, "{t,1.5}"},
		{[]any{}, "{}"},
	} {
		if got := arrayLiteral(tc.in); got != tc.want {
			t.Errorf("arrayLiteral(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestOriginalOffset(t *testing.T) {
	// "select $1, nope" with $1 -> 'long literal'
	st := &stmt{text: "select $1, nope"}
	st.scanParams()
	text, subs := substitute(st, []string{"'long literal'"})
	if text != "select 'long literal', nope" {
		t.Fatal(text)
	}
	at := len("select 'long literal', ")
	if got := originalOffset(subs, at); got != len("select $1, ") {
		t.Errorf("offset %d maps to %d, want %d", at, got, len("select $1, "))
	}
	if got := originalOffset(subs, 8); got != 7 {
		t.Errorf("inside the literal: %d, want 7 (the $1)", got)
	}
}
