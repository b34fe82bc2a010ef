package differential

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
)

// rowsPerTable is how many rows each fixture table has.
const rowsPerTable = 15

// fixtureTable is one table's schema and rows. A row maps column names to nil, string,
// int64, float64, bool or time.Time; JSON columns hold their JSON text (a string), which
// the SDK passes through unchanged and Postgres parses into jsonb.
type fixtureTable struct {
	name string
	cols []column
	rows []map[string]any
}

type fixture struct {
	tables map[string]*fixtureTable
	anchor time.Time
}

// generator builds the rows. anchor is "now" truncated to the UTC day: timestamps spread
// over the year before it (and, for expiry-like columns, the year after).
type generator struct {
	f      *facts
	anchor time.Time
}

func hash(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprint(h, p, "\x00")
	}
	// fnv's low bits are weak for short inputs; mix them.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// rowCtx holds the values a row's columns share.
type rowCtx struct {
	i       int
	table   string
	name    string
	region  string
	account string
	arn     string
}

func serviceOf(table string) (svc, kind string) {
	parts := strings.Split(strings.TrimPrefix(table, "aws_"), "_")
	svc = parts[0]
	kind = strings.Join(parts[1:], "-")
	switch svc {
	case "vpc", "ebs":
		if kind == "" {
			kind = svc
		}
		svc = "ec2"
	}
	if kind == "" {
		kind = svc
	}
	return svc, kind
}

func (g *generator) rowContext(table string, i int) rowCtx {
	svc, kind := serviceOf(table)
	rc := rowCtx{i: i, table: table}
	short := strings.ReplaceAll(strings.TrimPrefix(table, "aws_"), "_", "-")
	envs := []string{"prod", "dev", "staging"}
	rc.name = fmt.Sprintf("%s-%s-%02d", short, envs[i%3], i)
	rc.region = regions[i%len(regions)]
	rc.account = accounts[0]
	if i%3 == 2 {
		rc.account = accounts[1]
	}
	switch svc {
	case "s3":
		rc.region = regions[i%2]
		rc.arn = "arn:aws:s3:::" + rc.name
	case "iam", "route53", "cloudfront":
		rc.region = "global"
		rc.arn = fmt.Sprintf("arn:aws:%s::%s:%s/%s", svc, rc.account, kind, rc.name)
		if table == "aws_iam_policy" && i%4 == 0 {
			rc.arn = "arn:aws:iam::aws:policy/" + []string{"AdministratorAccess", "ReadOnlyAccess", "AmazonS3FullAccess", "SecurityAudit"}[i/4%4]
		}
	default:
		rc.arn = fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", svc, rc.region, rc.account, kind, rc.name)
	}
	return rc
}

func (g *generator) generate(schemas map[string][]column) *fixture {
	fx := &fixture{tables: map[string]*fixtureTable{}, anchor: g.anchor}
	for _, name := range sortedKeys(schemas) {
		t := &fixtureTable{name: name, cols: schemas[name]}
		for i := 0; i < rowsPerTable; i++ {
			rc := g.rowContext(name, i)
			row := map[string]any{}
			for _, c := range t.cols {
				row[c.name] = g.value(rc, c, row)
			}
			t.rows = append(t.rows, row)
		}
		fx.tables[name] = t
	}
	// Joins find partners: most rows of the second table take their key from the first.
	for _, j := range g.f.sortedJoins() {
		a, b := fx.tables[j[0].table], fx.tables[j[1].table]
		if a == nil || b == nil || g.f.types[j[0]] != g.f.types[j[1]] {
			continue
		}
		for i, row := range b.rows {
			if i%4 == 3 {
				continue
			}
			if v := a.rows[i%len(a.rows)][j[0].column]; v != nil {
				row[j[1].column] = v
			}
		}
	}
	return fx
}

// value generates column c of a row. Columns are generated in schema order, so a *_std
// column can read its raw sibling from row.
func (g *generator) value(rc rowCtx, c column, row map[string]any) any {
	key := colKey{rc.table, c.name}
	seed := hash(rc.table, c.name, rc.i)
	switch c.typ {
	case proto.ColumnType_STRING, proto.ColumnType_LTREE:
		return g.str(rc, c.name, seed)
	case proto.ColumnType_INT:
		if rc.i%8 == 6 {
			return nil
		}
		return int64(g.number(key, c.name, seed, true))
	case proto.ColumnType_DOUBLE:
		if rc.i%8 == 6 {
			return nil
		}
		return g.number(key, c.name, seed, false)
	case proto.ColumnType_BOOL:
		if rc.i%6 == 5 {
			return nil
		}
		return seed%2 == 0
	//lint:ignore SA1019 plugins built with older SDKs still declare DATETIME columns, and the engine reads them as timestamps too
	case proto.ColumnType_TIMESTAMP, proto.ColumnType_DATETIME:
		if rc.i%8 == 7 {
			return nil
		}
		return g.timestamp(c.name, seed)
	case proto.ColumnType_IPADDR:
		if rc.i%7 == 6 {
			return nil
		}
		if seed%3 == 0 {
			return fmt.Sprintf("54.%d.%d.%d", 80+seed%100, seed/7%250, 1+seed/11%250)
		}
		return fmt.Sprintf("10.0.%d.%d", rc.i, 2+seed%250)
	case proto.ColumnType_CIDR:
		if rc.i%7 == 6 {
			return nil
		}
		switch seed % 4 {
		case 0:
			return "0.0.0.0/0"
		case 1:
			return fmt.Sprintf("10.%d.0.0/16", rc.i)
		case 2:
			return fmt.Sprintf("172.16.%d.0/24", rc.i)
		}
		return fmt.Sprintf("192.168.%d.0/24", rc.i)
	case proto.ColumnType_INET:
		if rc.i%7 == 6 {
			return nil
		}
		return fmt.Sprintf("192.168.%d.%d/24", rc.i, 1+seed%200)
	case proto.ColumnType_JSON:
		return jsonText(g.json(rc, c.name, seed, row))
	}
	return nil
}

func hasAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func (g *generator) timestamp(name string, seed uint64) time.Time {
	if seed%5 == 0 {
		// Within the hour before the fixed clock: "the last 5 minutes" finds something.
		return clockNow.Add(-time.Duration(seed/5%3600) * time.Second)
	}
	d := time.Duration(seed%365)*24*time.Hour + time.Duration(seed/365%24)*time.Hour +
		time.Duration(seed/8760%60)*time.Minute + time.Duration(seed/525600%60)*time.Second
	if hasAny(name, "expir", "not_after", "valid_to", "valid_until", "end", "deadline", "next_") {
		// Some past, most future.
		return g.anchor.Add(-30 * 24 * time.Hour).Add(d)
	}
	return g.anchor.Add(-d)
}

// pickLit chooses among the corpus's literals for a column on two rows of three, so both
// matching and non-matching rows exist.
func pickLit[T any](lits []T, i int, seed uint64) (T, bool) {
	var zero T
	if len(lits) == 0 || i%3 == 2 {
		return zero, false
	}
	return lits[int(seed%uint64(len(lits)))], true
}

func (g *generator) str(rc rowCtx, name string, seed uint64) any {
	key := colKey{rc.table, name}
	switch name {
	case "region":
		return rc.region
	case "account_id":
		return rc.account
	case "partition":
		return "aws"
	case "title", "name", "arn":
		// The row's identity; on one row in five, a value the corpus looks for.
		if lits := g.f.strs[key]; len(lits) > 0 && rc.i%5 == 1 {
			return lits[int(seed%uint64(len(lits)))]
		}
		if name == "arn" {
			return rc.arn
		}
		return rc.name
	}
	if lit, ok := pickLit(g.f.strs[key], rc.i, seed); ok {
		return lit
	}
	if (rc.i%7 == 5 && !strings.HasSuffix(name, "_id")) || rc.i%11 == 10 {
		return nil
	}
	// Text columns the corpus casts hold text of that type, as the API returns them.
	switch g.f.casts[key] {
	case "int":
		return fmt.Sprint(seed % 500)
	case "num":
		return fmt.Sprintf("%d.%03d", seed%500, seed/500%1000)
	case "bool":
		return fmt.Sprint(seed%2 == 0)
	case "time":
		return g.timestamp(name, seed).Format(time.RFC3339)
	}
	switch {
	case strings.HasSuffix(name, "_arn"):
		svc, _ := serviceOf(rc.table)
		res := strings.TrimSuffix(name, "_arn")
		region := rc.region
		if region == "global" {
			region = ""
		}
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s-%02d", svc, region, rc.account, strings.ReplaceAll(res, "_", "-"), res, seed%4)
	case name == "id" || strings.HasSuffix(name, "_id"):
		prefix := strings.TrimSuffix(strings.TrimSuffix(name, "id"), "_")
		if prefix == "" {
			prefix = strings.Split(strings.TrimPrefix(rc.table, "aws_"), "_")[0]
		}
		// Row i of every table shares its vpc_id, subnet_id, ...: joins on the same name match.
		return fmt.Sprintf("%s-%012x", strings.ReplaceAll(prefix, "_", ""), hash(name, rc.i)%(1<<48))
	case strings.HasSuffix(name, "_name"):
		return fmt.Sprintf("%s-%02d", strings.ReplaceAll(strings.TrimSuffix(name, "_name"), "_", "-"), rc.i)
	case hasAny(name, "status", "state"):
		return []string{"ACTIVE", "INACTIVE", "PENDING", "available", "FAILED"}[seed%5]
	case hasAny(name, "_date", "_time", "timestamp") || strings.HasSuffix(name, "_at"):
		return g.timestamp(name, seed).Format(time.RFC3339)
	case hasAny(name, "description"):
		return fmt.Sprintf("Managed by Terraform: %s", rc.name)
	case hasAny(name, "email"):
		return fmt.Sprintf("owner%d@example.com", seed%4)
	case hasAny(name, "url", "endpoint", "domain"):
		return fmt.Sprintf("https://%s.%s.example.com", rc.name, rc.region)
	case hasAny(name, "version"):
		return fmt.Sprintf("%d.%d", 1+seed%3, seed/3%10)
	}
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(name, "_", "-"), seed%3)
}

func (g *generator) number(key colKey, name string, seed uint64, integer bool) float64 {
	if lits := g.f.nums[key]; len(lits) > 0 && seed%4 != 3 {
		l := lits[int(seed/4%uint64(len(lits)))]
		v := l + float64(int(seed/16%3)-1) // just below, at, just above the threshold
		if v < 0 {
			v = 0
		}
		return v
	}
	var pool []float64
	switch {
	case hasAny(name, "port"):
		pool = []float64{22, 80, 443, 3389, 5432, 8080}
	case hasAny(name, "days", "retention", "period"):
		pool = []float64{0, 1, 7, 30, 90, 365}
	case hasAny(name, "count", "number", "instances", "capacity"):
		pool = []float64{0, 1, 2, 3, 5, 10}
	case hasAny(name, "size", "storage", "memory", "_gb", "_mb", "bytes"):
		pool = []float64{8, 20, 100, 512, 1024, 4096}
	}
	if len(pool) > 0 {
		return pool[seed%uint64(len(pool))]
	}
	if integer {
		return float64(seed % 1000)
	}
	return math.Round(float64(seed%100000)) / 100
}

// camel turns a column name into an AWS-style key: "kms_key_id" -> "KmsKeyId".
func camel(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(s, "_") {
		if p == "" {
			continue
		}
		r := []rune(p)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

var iamDocColumns = map[string]bool{"policy": true, "assume_role_policy": true, "session_policy": true,
	"key_policy": true, "resource_policy": true, "access_policy": true, "access_policies": true,
	"bucket_policy": true, "repository_policy": true}

func (g *generator) json(rc rowCtx, name string, seed uint64, row map[string]any) any {
	key := colKey{rc.table, name}
	sh := g.f.json[key]
	switch {
	case name == "akas":
		return []any{rc.arn}
	case name == "tags":
		t := g.tags(rc)
		if t == nil {
			return nil
		}
		return t
	case name == "tags_src":
		t := g.tags(rc)
		if t == nil {
			return nil
		}
		out := []any{}
		for _, x := range t {
			out = append(out, obj{{"Key", x.k}, {"Value", x.v}})
		}
		return out
	case strings.HasSuffix(name, "_std"):
		raw, ok := row[strings.TrimSuffix(name, "_std")]
		if !ok || raw == nil {
			if rc.i%9 == 8 {
				return nil
			}
			raw = jsonText(g.json(rc, strings.TrimSuffix(name, "_std"), hash(rc.table, strings.TrimSuffix(name, "_std"), rc.i), row))
		}
		return g.std(name, raw.(string))
	case iamDocColumns[name] || (sh != nil && sh.keys["Statement"] != nil):
		if rc.i%9 == 8 {
			return nil
		}
		return policyDoc(seed, rc.account, rc.arn)
	case name == "inline_policies":
		if rc.i%9 == 8 {
			return nil
		}
		out := []any{}
		for k := 0; k < int(seed%3); k++ {
			out = append(out, obj{{"PolicyDocument", policyDoc(seed+uint64(k), rc.account, rc.arn)}, {"PolicyName", fmt.Sprintf("inline-%d", k)}})
		}
		return out
	case name == "ip_permissions" || name == "ip_permissions_egress":
		return ipPermissions(seed, rc.account, name == "ip_permissions_egress")
	case strings.HasSuffix(name, "_arns") && (sh == nil || sh.elem == nil || len(sh.elem.keys) == 0):
		return g.arnList(rc, name, seed)
	}
	if rc.i%9 == 8 {
		return nil
	}
	if sh != nil && len(sh.wholes) > 0 && rc.i%4 == 1 {
		return sh.wholes[int(seed%uint64(len(sh.wholes)))]
	}
	if sh != nil && (sh.array || sh.object || len(sh.keys) > 0) {
		return g.fromShape(sh, camel(name), seed, 0)
	}
	return g.generic(name, seed)
}

// std canonicalises the raw sibling column the way the plugin does.
func (g *generator) std(name, raw string) any {
	var doc any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return nil
	}
	switch d := doc.(type) {
	case map[string]any:
		c, err := canonical(d)
		if err != nil {
			panic(err)
		}
		return c
	case []any: // inline_policies_std: the same list with each document canonical
		out := []any{}
		for _, item := range d {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			c, err := canonical(m["PolicyDocument"])
			if err != nil {
				panic(err)
			}
			out = append(out, obj{{"PolicyDocument", c}, {"PolicyName", m["PolicyName"]}})
		}
		return out
	}
	return nil
}

func (g *generator) tags(rc rowCtx) obj {
	switch rc.i % 9 {
	case 8:
		return nil
	case 7:
		return obj{}
	}
	t := obj{{"Name", rc.name}}
	sh := g.f.json[colKey{rc.table, "tags"}]
	if sh != nil && sh.keys["Name"] != nil && len(sh.keys["Name"].strs) > 0 && rc.i%4 == 1 {
		t = t.set("Name", sh.keys["Name"].strs[rc.i%len(sh.keys["Name"].strs)])
	}
	if rc.i%3 != 2 {
		t = t.set("Environment", []string{"prod", "dev", "staging"}[rc.i%3])
	}
	if rc.i%2 == 0 {
		t = t.set("Owner", fmt.Sprintf("team-%d", rc.i%3))
	}
	// Tag keys the corpus asks about, with the values it compares them to.
	if sh != nil {
		for k, key := range sh.order {
			if key == "*" || key == "Name" || key == "Environment" || key == "Owner" || (rc.i+k)%4 == 3 {
				continue
			}
			ks := sh.keys[key]
			v := fmt.Sprintf("%s-value-%d", strings.ToLower(key), rc.i%3)
			if len(ks.strs) > 0 && rc.i%3 != 1 {
				v = ks.strs[rc.i%len(ks.strs)]
			}
			t = t.set(key, v)
		}
	}
	return t
}

func (g *generator) arnList(rc rowCtx, name string, seed uint64) any {
	if rc.i%9 == 8 {
		return nil
	}
	n := int(seed % 4)
	out := []any{}
	for k := 0; k < n; k++ {
		if strings.Contains(name, "policy") {
			pool := []string{"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess",
				fmt.Sprintf("arn:aws:iam::%s:policy/iam-policy-prod-%02d", rc.account, (rc.i+k)%15)}
			out = append(out, pool[(seed+uint64(k))%uint64(len(pool))])
			continue
		}
		svc, _ := serviceOf(rc.table)
		res := strings.ReplaceAll(strings.TrimSuffix(name, "_arns"), "_", "-")
		out = append(out, fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s-%d", svc, rc.region, rc.account, res, res, (seed+uint64(k))%5))
	}
	return out
}

// generic is a JSON value for a column no query navigates.
func (g *generator) generic(name string, seed uint64) any {
	key := camel(name)
	if strings.HasSuffix(name, "s") {
		n := int(seed % 3)
		out := []any{}
		for k := 0; k < n; k++ {
			if strings.HasSuffix(name, "_ids") || strings.HasSuffix(name, "_names") {
				out = append(out, fmt.Sprintf("%s-%d", strings.TrimSuffix(name, "s"), (seed+uint64(k))%5))
			} else {
				out = append(out, obj{{strings.TrimSuffix(key, "s") + "Id", fmt.Sprintf("id-%d", (seed+uint64(k))%7)}, {"Status", []string{"ACTIVE", "DISABLED"}[(seed+uint64(k))%2]}})
			}
		}
		return out
	}
	return obj{{"Enabled", seed%2 == 0}, {key, fmt.Sprintf("%s-%d", strings.ToLower(key), seed%3)}}
}

// fromShape builds a value that has every path the corpus walks, with the literals it
// compares them to on some rows.
func (g *generator) fromShape(s *shape, name string, seed uint64, depth int) any {
	if depth > 8 {
		return nil
	}
	if s.array {
		n := []int{1, 2, 3, 0, 2}[seed%5]
		out := []any{}
		el := s.elem
		if el == nil {
			el = &shape{}
		}
		for k := 0; k < n; k++ {
			out = append(out, g.fromShape(el, strings.TrimSuffix(name, "s"), hash(seed, k), depth+1))
		}
		return out
	}
	if s.object || len(s.keys) > 0 {
		o := obj{}
		for k, key := range s.order {
			// Most keys are present; some rows lack a few, as AWS omits empty fields.
			if depth > 0 && hash(seed, key)%7 == 0 {
				continue
			}
			if key == "*" {
				for m := 0; m < 2; m++ {
					o = o.set(fmt.Sprintf("%sKey%d", name, m+int(seed%3)), g.fromShape(s.keys[key], name, hash(seed, k, m), depth+1))
				}
				continue
			}
			o = o.set(key, g.fromShape(s.keys[key], key, hash(seed, k), depth+1))
		}
		return o
	}
	return g.leaf(s, name, seed)
}

func (g *generator) leaf(s *shape, name string, seed uint64) any {
	if s.hint == "bool" {
		return seed%2 == 0
	}
	if len(s.strs) > 0 && seed%4 != 3 {
		v := s.strs[int(seed/4%uint64(len(s.strs)))]
		if s.hint == "int" || s.hint == "num" {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
		return v
	}
	if len(s.nums) > 0 && seed%4 != 3 {
		l := s.nums[int(seed/4%uint64(len(s.nums)))]
		return l + float64(int(seed/16%3)-1)
	}
	lower := strings.ToLower(name)
	switch {
	case s.hint == "int" || s.hint == "num" || hasAny(lower, "count", "size", "port", "number", "days", "seconds", "minutes", "capacity", "limit", "percent"):
		return int64(seed % 100)
	case s.hint == "time" || hasAny(lower, "date", "time") || strings.HasSuffix(name, "At"):
		return g.timestamp(lower, seed).Format(time.RFC3339)
	case strings.HasPrefix(name, "Is") || hasAny(lower, "enabled", "enable"):
		return seed%2 == 0
	case strings.HasSuffix(lower, "arn"):
		return fmt.Sprintf("arn:aws:service:%s:%s:resource/%s-%d", regions[seed%4], accounts[seed%2], strings.ToLower(name), seed%5)
	case strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "ID"):
		return fmt.Sprintf("%s-%08x", strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(name, "Id"), "ID")), seed%(1<<32))
	}
	return fmt.Sprintf("%s-%d", name, seed%3)
}
