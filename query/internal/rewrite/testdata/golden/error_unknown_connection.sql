select * from staging.test_types
