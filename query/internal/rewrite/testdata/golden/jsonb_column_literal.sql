select id from test_types where tags = '{"b": 1, "a": 2}'
