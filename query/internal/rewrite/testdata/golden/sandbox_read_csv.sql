select * from read_csv('/etc/passwd')
