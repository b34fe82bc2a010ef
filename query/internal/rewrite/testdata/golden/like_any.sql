select id from test_types where name like any (array['item-1%', 'item-2%'])
