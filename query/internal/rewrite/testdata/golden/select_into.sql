select id into t2 from test_types
