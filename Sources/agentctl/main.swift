import AgentControl

await AgentCtl.main()
