select s ->> 'Effect' from test_types, jsonb_array_elements(items) as s
