package query

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walk visits every *pg.Node below m, depth first, parents before children. If fn
// returns false the node's children are skipped. fn may replace n.Node in place; the walk
// then continues into the replacement.
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

// walkNode is walk for a single node, the node itself included.
func walkNode(n *pg.Node, fn func(n *pg.Node) bool) {
	if n == nil {
		return
	}
	walkMessage(n.ProtoReflect(), fn)
}
