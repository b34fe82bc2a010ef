select t.id from test_types t left join test_optional o on o.region = 'us-east-1'
