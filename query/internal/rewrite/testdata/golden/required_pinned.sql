select label from test_required where kind = 'a'
