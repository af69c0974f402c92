from cnnrun.cli.app import main

main()
