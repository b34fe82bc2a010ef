package pgwire

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/spoutdev/spout/query"
)

func (ss *session) parse(m *pgproto3.Parse) error {
	stmts := split(m.Query)
	var nonEmpty []*stmt
	for _, st := range stmts {
		if st.kind != kindEmpty {
			nonEmpty = append(nonEmpty, st)
		}
	}
	if len(nonEmpty) > 1 {
		return &pgError{code: "42601", msg: "cannot insert multiple commands into a prepared statement"}
	}
	st := &stmt{kind: kindEmpty, text: m.Query}
	if len(nonEmpty) == 1 {
		st = nonEmpty[0]
	}
	if m.Name != "" {
		if _, exists := ss.stmts[m.Name]; exists {
			return &pgError{code: "42P05", msg: fmt.Sprintf("prepared statement %q already exists", m.Name)}
		}
	}
	oids := make([]uint32, st.nParams)
	inferred := map[int]uint32{}
	if st.nParams > 0 && st.kind == kindEngine {
		inferred = inferParams(st.node, ss.srv.eng)
	}
	for i := range oids {
		switch {
		case i < len(m.ParameterOIDs) && m.ParameterOIDs[i] != 0:
			oids[i] = m.ParameterOIDs[i]
		case st.paramCasts[i+1] != 0:
			oids[i] = st.paramCasts[i+1]
		case inferred[i+1] != 0:
			oids[i] = inferred[i+1]
		default:
			// Postgres would infer the type from the context; the engine takes text, and
			// DuckDB casts a string literal to what it is compared with.
			oids[i] = pgtype.TextOID
		}
	}
	ss.stmts[m.Name] = &statement{query: m.Query, st: st, paramOIDs: oids}
	ss.be.Send(&pgproto3.ParseComplete{})
	return nil
}

func (ss *session) bind(m *pgproto3.Bind) error {
	ps, ok := ss.stmts[m.PreparedStatement]
	if !ok {
		return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)}
	}
	if len(m.Parameters) != len(ps.paramOIDs) {
		return &pgError{code: "08P01", msg: fmt.Sprintf("bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, len(ps.paramOIDs))}
	}
	vals := make([]string, len(m.Parameters))
	for i, raw := range m.Parameters {
		v, err := literal(ss.types, ps.paramOIDs[i], formatOf(m.ParameterFormatCodes, i), raw)
		if err != nil {
			return &pgError{code: "22P02", msg: fmt.Sprintf("parameter $%d: %v", i+1, err)}
		}
		vals[i] = v
	}
	if m.DestinationPortal != "" {
		if _, exists := ss.portals[m.DestinationPortal]; exists {
			return &pgError{code: "42P03", msg: fmt.Sprintf("portal %q already exists", m.DestinationPortal)}
		}
	} else {
		ss.closePortal("")
	}
	text, subs := substitute(ps.st, vals)
	// The parameters are written into the text: the limit holds for what the engine parses.
	if err := ss.checkSize(text); err != nil {
		return err
	}
	ss.portals[m.DestinationPortal] = &portal{stmt: ps, sql: text, subs: subs, resultFormats: m.ResultFormatCodes}
	ss.be.Send(&pgproto3.BindComplete{})
	return nil
}

func (ss *session) describe(m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		ps, ok := ss.stmts[m.Name]
		if !ok {
			return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.Name)}
		}
		if !ps.described {
			// Placeholders stand in for the parameters: binding needs values, and
			// planning calls no API whatever they are.
			vals := make([]string, len(ps.paramOIDs))
			for i, oid := range ps.paramOIDs {
				vals[i] = placeholder(oid)
			}
			text, subs := substitute(ps.st, vals)
			cols, err := ss.describeColumns(ps.st, text)
			if err != nil {
				return ss.locate(err, ps.query, &portal{stmt: ps, subs: subs})
			}
			ps.cols, ps.described = cols, true
		}
		ss.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: ps.paramOIDs})
		if len(ps.cols) == 0 {
			ss.be.Send(&pgproto3.NoData{})
		} else {
			ss.be.Send(rowDescription(ps.cols, nil))
		}
		return nil
	}
	p, ok := ss.portals[m.Name]
	if !ok {
		return &pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Name)}
	}
	cols := p.stmt.cols
	if !p.stmt.described {
		var err error
		cols, err = ss.describeColumns(p.stmt.st, p.sql)
		if err != nil {
			return ss.locate(err, p.stmt.query, p)
		}
	}
	if len(cols) == 0 {
		ss.be.Send(&pgproto3.NoData{})
	} else {
		ss.be.Send(rowDescription(cols, p.resultFormats))
	}
	return nil
}

func (ss *session) execute(m *pgproto3.Execute) error {
	p, ok := ss.portals[m.Portal]
	if !ok {
		return &pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Portal)}
	}
	if err := ss.run(p, int64(m.MaxRows), false); err != nil {
		return ss.locate(err, p.stmt.query, p)
	}
	return nil
}

func (ss *session) closePortal(name string) {
	if p, ok := ss.portals[name]; ok {
		ss.finish(p)
		delete(ss.portals, name)
	}
}

func (ss *session) closeUnnamedPortal() {
	if ss.tx == 'I' {
		ss.closePortal("")
	}
}

// placeholder is a value of type oid for planning a statement before its parameters
// are known.
func placeholder(oid uint32) string {
	switch oid {
	case pgtype.Int8OID, pgtype.Int4OID, pgtype.Int2OID, pgtype.OIDOID, pgtype.Float8OID, pgtype.Float4OID, pgtype.NumericOID:
		return "0"
	case pgtype.BoolOID:
		return "true"
	case pgtype.TimestamptzOID:
		return "'2000-01-01 00:00:00+00'::timestamptz"
	case pgtype.TimestampOID:
		return "'2000-01-01 00:00:00'::timestamp"
	case pgtype.DateOID:
		return "'2000-01-01'::date"
	case pgtype.JSONBOID, pgtype.JSONOID:
		return "'{}'::jsonb"
	}
	return "''"
}

// substitution records that text[start:end] of a statement became text[newStart:newEnd]
// of the SQL the engine got, for mapping error positions back.
type substitution struct {
	start, end, newStart, newEnd int
}

// substitute writes the parameters' literals into the statement's text.
func substitute(st *stmt, vals []string) (string, []substitution) {
	if len(st.params) == 0 {
		return st.text, nil
	}
	var b strings.Builder
	var subs []substitution
	last := 0
	for _, p := range st.params {
		b.WriteString(st.text[last:p.start])
		v := "NULL"
		if p.n-1 < len(vals) {
			v = vals[p.n-1]
		}
		newStart := b.Len()
		b.WriteString(v)
		subs = append(subs, substitution{start: p.start, end: p.end, newStart: newStart, newEnd: b.Len()})
		last = p.end
	}
	b.WriteString(st.text[last:])
	return b.String(), subs
}

// originalOffset maps a 0-based byte offset in the substituted text back to the
// statement's own text.
func originalOffset(subs []substitution, off int) int {
	shift := 0
	for _, s := range subs {
		if off < s.newStart {
			break
		}
		if off < s.newEnd {
			return s.start
		}
		shift = s.end - s.newEnd
	}
	return off + shift
}

// locate gives an engine error its position in the client's text: msg is the message
// the statement came in, p the portal that ran it.
func (ss *session) locate(err error, msg string, p *portal) error {
	pe := toPG(err)
	pos, ok := query.PositionOf(err)
	if !ok || pe.pos > 0 {
		return pe
	}
	st := p.stmt.st
	off := originalOffset(p.subs, pos.Offset-1) + st.offset
	located := *pe
	located.pos = charPosition(msg, off+1)
	return &located
}
