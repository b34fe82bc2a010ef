// Package pgtree walks pg_query_go parse trees.
package pgtree

import (
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
