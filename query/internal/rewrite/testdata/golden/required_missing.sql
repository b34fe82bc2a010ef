select * from test_required
