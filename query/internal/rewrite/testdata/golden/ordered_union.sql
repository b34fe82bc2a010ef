select id from test_types union select id from test_optional order by 1
