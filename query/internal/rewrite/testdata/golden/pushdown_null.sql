select id from test_types where name is null
