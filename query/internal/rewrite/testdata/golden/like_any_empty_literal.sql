select id from test_types where name like any (array[])
