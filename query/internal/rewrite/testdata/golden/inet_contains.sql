select id from test_types where ip << '10.0.0.0/8'::cidr
