"""The client is set up for speed without changing what goes over the wire."""

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.services._dynamodb.transport.wire import PassThroughParserFactory
from tests.fakes import FakeSessionFactory


async def test_fixed_user_agent_no_revalidation_and_pass_through_parsing(
    config: DynamoDBConfig, sessions: FakeSessionFactory
) -> None:
    async with DynamoDBService(LoggingService(), config):
        session = sessions.made[0]
    botocore_config = session.client_kwargs["config"]
    # A fixed string: botocore would rebuild its default User-Agent twice per request.
    assert botocore_config.user_agent.startswith("lvrgd-common aiobotocore/")
    assert botocore_config.parameter_validation is False
    botocore_session = session.kwargs["botocore_session"]
    assert isinstance(
        botocore_session.get_component("response_parser_factory"), PassThroughParserFactory
    )
