// Package pgtree walks pg_query_go parse trees and reads their literals.
package pgtree

import (
	"strconv"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walk visits every *pg.Node below m.
func walk(m protoreflect.Message, fn func(n *pg.Node) bool) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			if fd.Kind() != protoreflect.MessageKind {
				return true
			}
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkMessage(l.Get(i).Message(), fn)
			}
		case fd.IsMap():
		case fd.Kind() == protoreflect.MessageKind:
			walkMessage(v.Message(), fn)
		}
		return true
	})
}

func walkMessage(m protoreflect.Message, fn func(n *pg.Node) bool) {
	if n, ok := m.Interface().(*pg.Node); ok {
		if n == nil || n.Node == nil {
			return
		}
		if !fn(n) {
			return
		}
		m = n.ProtoReflect()
	}
	walk(m, fn)
}

// Walk visits n and every *pg.Node below it, depth first, parents before children. If
// fn returns false the node's children are skipped. fn may replace n.Node in place; the
// walk then continues into the replacement.
func Walk(n *pg.Node, fn func(n *pg.Node) bool) {
	if n == nil {
		return
	}
	walkMessage(n.ProtoReflect(), fn)
}

// WalkSelects calls fn for every SELECT in the tree, including the arms of UNION,
// INTERSECT and EXCEPT, which the tree holds as bare SelectStmts rather than nodes. If
// fn returns false the statement's contents are skipped.
func WalkSelects(root *pg.Node, fn func(s *pg.SelectStmt) bool) {
	var visit func(s *pg.SelectStmt) bool
	visit = func(s *pg.SelectStmt) bool {
		if s == nil {
			return false
		}
		if !fn(s) {
			return false
		}
		if s.Larg != nil {
			visit(s.Larg)
		}
		if s.Rarg != nil {
			visit(s.Rarg)
		}
		return true
	}
	Walk(root, func(n *pg.Node) bool {
		if s := n.GetSelectStmt(); s != nil {
			return visit(s)
		}
		return true
	})
}

// WalkBelow visits every *pg.Node inside m (a SelectStmt, say), as Walk does.
func WalkBelow(m protoreflect.ProtoMessage, fn func(n *pg.Node) bool) {
	walk(m.ProtoReflect(), fn)
}

// ConstValue reads a literal, looking through casts: integers as int64 (including those too
// big for the parser's int32, which it hands over as text), other numbers as float64,
// strings and typed strings ('2024-01-01'::timestamptz) as string, booleans as bool. It
// reports false for NULL and for anything that is not a literal.
func ConstValue(n *pg.Node) (any, bool) {
	if tc := n.GetTypeCast(); tc != nil {
		return ConstValue(tc.Arg)
	}
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return nil, false
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return int64(v.Ival.Ival), true
	case *pg.A_Const_Fval:
		if i, err := strconv.ParseInt(v.Fval.Fval, 10, 64); err == nil {
			return i, true
		}
		f, err := strconv.ParseFloat(v.Fval.Fval, 64)
		return f, err == nil
	case *pg.A_Const_Sval:
		return v.Sval.Sval, true
	case *pg.A_Const_Boolval:
		return v.Boolval.Boolval, true
	}
	return nil, false
}
