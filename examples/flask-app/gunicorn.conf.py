# gunicorn reads this file from the folder it starts in. Threads: the sign-in waiting page
# holds a server-sent-events stream open while the user looks at the phone; with threads
# it takes one thread, not a whole worker. Command-line flags (-w 2, ...) win over these.
workers = 3
worker_class = "gthread"
threads = 8
