select score::money as m from test_types order by m
