select << '10.0.0.0/8'::inet
