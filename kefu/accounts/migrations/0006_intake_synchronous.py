from django.db import migrations, models


class Migration(migrations.Migration):
    """Shops that exist keep the synchronous answer (201 with the routing) their connectors
    read; shops created from now on queue buyer messages and answer 202 (decisions §42)."""

    dependencies = [
        ("accounts", "0005_takes_new_chats"),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="intake_synchronous",
            field=models.BooleanField(
                default=True,
                verbose_name="store and route each marketplace message before answering",
            ),
        ),
        migrations.AlterField(
            model_name="shop",
            name="intake_synchronous",
            field=models.BooleanField(
                default=False,
                verbose_name="store and route each marketplace message before answering",
            ),
        ),
    ]
