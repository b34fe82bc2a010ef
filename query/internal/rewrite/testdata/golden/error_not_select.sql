delete from test_types
