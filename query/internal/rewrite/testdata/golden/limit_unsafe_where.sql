select id from test_types where score > 3 limit 5
