select label from test_required where kind in (select name from test_types where id < 3)
