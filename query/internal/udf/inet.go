package udf

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/netip"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// DuckDB's inet extension is not linked in, so the Postgres inet/cidr functions and
// operators Steampipe queries use are implemented here. Values are text ("10.0.0.0/16",
// "192.168.1.5"); a NULL or unparsable input gives NULL, as a cast error would be
// unhelpful in a WHERE over cloud inventory.

type inetFunc struct {
	name   string
	args   int
	result duckdb.Type
	fn     func(args []string) (any, bool)
}

var inetFuncs = []inetFunc{
	{"host", 1, duckdb.TYPE_VARCHAR, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		return p.Addr().String(), ok
	}},
	{"masklen", 1, duckdb.TYPE_INTEGER, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		return int32(p.Bits()), ok
	}},
	{"family", 1, duckdb.TYPE_INTEGER, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		if p.Addr().Is4() {
			return int32(4), ok
		}
		return int32(6), ok
	}},
	{"network", 1, duckdb.TYPE_VARCHAR, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		return p.Masked().String(), ok
	}},
	{"netmask", 1, duckdb.TYPE_VARCHAR, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		return maskAddr(p.Addr().BitLen(), p.Bits(), false).String(), ok
	}},
	{"hostmask", 1, duckdb.TYPE_VARCHAR, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		return maskAddr(p.Addr().BitLen(), p.Bits(), true).String(), ok
	}},
	{"broadcast", 1, duckdb.TYPE_VARCHAR, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		return broadcast(p).String() + "/" + strconv.Itoa(p.Bits()), ok
	}},
	{"abbrev", 1, duckdb.TYPE_VARCHAR, func(a []string) (any, bool) {
		p, ok := parsePrefix(a[0])
		if p.Bits() == p.Addr().BitLen() && !strings.Contains(a[0], "/") {
			return p.Addr().String(), ok
		}
		return p.String(), ok
	}},
	// a << b: a is strictly inside b.
	{"spout_inet_within", 2, duckdb.TYPE_BOOLEAN, func(a []string) (any, bool) {
		x, ok1 := parsePrefix(a[0])
		y, ok2 := parsePrefix(a[1])
		return x.Bits() > y.Bits() && y.Contains(x.Addr()), ok1 && ok2 && sameFamily(x, y)
	}},
	// a <<= b: a is inside or equal to b.
	{"spout_inet_within_eq", 2, duckdb.TYPE_BOOLEAN, func(a []string) (any, bool) {
		x, ok1 := parsePrefix(a[0])
		y, ok2 := parsePrefix(a[1])
		return x.Bits() >= y.Bits() && y.Contains(x.Addr()), ok1 && ok2 && sameFamily(x, y)
	}},
	// a && b: either contains the other.
	{"spout_inet_overlaps", 2, duckdb.TYPE_BOOLEAN, func(a []string) (any, bool) {
		x, ok1 := parsePrefix(a[0])
		y, ok2 := parsePrefix(a[1])
		return x.Overlaps(y), ok1 && ok2 && sameFamily(x, y)
	}},
}

// parsePrefix reads an inet or cidr value; a bare address is a /32 (or /128).
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func sameFamily(a, b netip.Prefix) bool { return a.Addr().Is4() == b.Addr().Is4() }

func maskAddr(bitLen, bits int, host bool) netip.Addr {
	b := make([]byte, bitLen/8)
	for i := range b {
		for j := 0; j < 8; j++ {
			set := i*8+j < bits
			if host {
				set = !set
			}
			if set {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	hm := maskAddr(p.Addr().BitLen(), p.Bits(), true).AsSlice()
	for i := range b {
		b[i] |= hm[i]
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

type inetUDF struct {
	f   inetFunc
	cfg duckdb.ScalarFuncConfig
}

func (u *inetUDF) Config() duckdb.ScalarFuncConfig { return u.cfg }

func (u *inetUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		args := make([]string, len(values))
		for i, v := range values {
			s, ok := v.(string)
			if !ok {
				return nil, nil
			}
			args[i] = s
		}
		out, ok := u.f.fn(args)
		if !ok {
			return nil, nil
		}
		return out, nil
	}}
}

func registerInetFunctions(ctx context.Context, db *sql.DB) error {
	fns := map[string]duckdb.ScalarFunc{}
	for _, f := range inetFuncs {
		ti, err := TypeInfos(duckdb.TYPE_VARCHAR, f.result)
		if err != nil {
			return err
		}
		in := make([]duckdb.TypeInfo, f.args)
		for i := range in {
			in[i] = ti[0]
		}
		fns[f.name] = &inetUDF{f: f, cfg: duckdb.ScalarFuncConfig{InputTypeInfos: in, ResultTypeInfo: ti[1]}}
	}
	return RegisterScalars(ctx, db, fns)
}
