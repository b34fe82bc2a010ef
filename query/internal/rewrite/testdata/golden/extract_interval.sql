select id from test_types where extract(day from current_timestamp - created_at)::int < 90
