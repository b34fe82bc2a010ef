select id frm test_types
