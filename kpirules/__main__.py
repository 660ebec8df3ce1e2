from kpirules.cli import main

main()
