"""One module per revision; never edit a revision that has shipped, add the next one."""
