select count(*) from test_types limit 1
