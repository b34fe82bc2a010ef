select id from test_types where id = 1 or id = 2
