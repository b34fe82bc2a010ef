select prod.test_types.id from prod.test_types where prod.test_types.id = 1
