"""One pytest run of LLM items: collection, item runners, goldens, recordings, the session end."""
