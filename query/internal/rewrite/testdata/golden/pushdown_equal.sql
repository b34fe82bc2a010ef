select id, name from test_types where id = 3 and name <> 'x'
