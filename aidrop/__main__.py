from aidrop.cli import main

main()
