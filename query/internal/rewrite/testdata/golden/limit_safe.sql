select id from test_types limit 5 offset 2
