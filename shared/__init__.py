"""What more than one service needs: the wire contract, offices, the calendar, the release rule, session hours, runtime."""
