from campaign_ops.cli import main

main()
