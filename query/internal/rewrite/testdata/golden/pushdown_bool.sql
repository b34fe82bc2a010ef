select id from test_types where active and not active
