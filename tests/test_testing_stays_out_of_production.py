"""The development helpers (local servers, create_table) are never loaded by the library."""

import subprocess
import sys


def test_importing_the_library_and_opening_a_service_never_loads_the_testing_module() -> None:
    script = (
        "import sys, asyncio\n"
        "from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService\n"
        "config = DynamoDBConfig(table_name='t-1', region='us-east-1',"
        " aws_access_key_id='a', aws_secret_access_key='b')\n"
        "async def main():\n"
        "    async with DynamoDBService(LoggingService(), config):\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "print('lvrgd_common.testing' in sys.modules)\n"
    )
    result = subprocess.run(  # noqa: S603 - the running interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
