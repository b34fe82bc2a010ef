select r.label from test_types t join test_required r on r.kind = t.name
