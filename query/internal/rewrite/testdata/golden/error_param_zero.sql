select id from test_types where id = $0
