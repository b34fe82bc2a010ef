select id from test_types where name ~ '^item-(?!1)'
