from lvrgd_common import DynamoDBBaseModel, DynamoDBService


class Note(DynamoDBBaseModel):
    text: str


async def test_save_then_get_one_returns_the_saved_model(service: DynamoDBService, pk: str) -> None:
    note = Note(pk=pk, sk="n1", text="hello")
    await service.save(note)
    assert await service.get_one(pk, "n1", Note) == note
