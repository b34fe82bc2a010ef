select * from test_typo
