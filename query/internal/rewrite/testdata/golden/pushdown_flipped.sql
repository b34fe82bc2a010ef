select id from test_types where 5 < id and created_at >= '2026-01-05'
