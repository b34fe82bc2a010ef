select tags ->> 'env' as env, tags -> 'owner' from test_types where tags ? 'env'
