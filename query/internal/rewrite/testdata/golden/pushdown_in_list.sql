select id from test_types where id in (1, 2, 3)
