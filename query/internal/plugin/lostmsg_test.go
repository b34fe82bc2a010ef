package plugin

import "testing"

func TestParseConnectionError(t *testing.T) {
	conn, err, ok := parseConnectionError("executeForConnection aws_prod returned error aws_prod: AccessDenied: not allowed, writing to CHAN")
	if !ok || conn != "aws_prod" || err != "aws_prod: AccessDenied: not allowed" {
		t.Errorf("got %q %q %v", conn, err, ok)
	}
	if _, _, ok := parseConnectionError("executeForConnection aws_prod complete"); ok {
		t.Error("a line without an error parsed as one")
	}
}

// An error logged for a connection goes to its one scan in flight, and to none when
// several scans of that connection could own it.
func TestWatchesAttributeOnlyUnambiguousErrors(t *testing.T) {
	ws := &watches{byConn: map[string][]*watch{}}
	a := ws.begin("c1")
	ws.logged("c1", "boom")
	ws.logged("c2", "other connection")
	if got := ws.end(a); got != "boom" {
		t.Errorf("single scan: got %q, want boom", got)
	}
	b, c := ws.begin("c1"), ws.begin("c1")
	ws.logged("c1", "whose?")
	if eb, ec := ws.end(b), ws.end(c); eb != "" || ec != "" {
		t.Errorf("two scans in flight: errors %q %q, want none", eb, ec)
	}
	if len(ws.byConn) != 0 {
		t.Errorf("watches left: %v", ws.byConn)
	}
}
