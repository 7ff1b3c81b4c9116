from tuanju.cli import main

main()
